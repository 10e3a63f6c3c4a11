using IoTPE.Broker;

namespace IoTPE.Engine.Scripts;

/// <summary>A run as its outcome is reported: where it was requested, by which message, and what ran.</summary>
/// <param name="Topic">The request's topic; results and errors go below it (a schedule's topic is <c>/&lt;account&gt;/run/&lt;name&gt;</c>).</param>
/// <param name="Message">The request, with its Response Topic and publisher; null for a scheduled run.</param>
/// <param name="Account">The account the script belongs to.</param>
/// <param name="Script">The script's name.</param>
/// <param name="Version">The script's version, once known.</param>
internal sealed record RunRequest(string Topic, ApplicationMessage? Message, string Account, string Script, string? Version = null);

using System.Text.Json.Serialization;

namespace IoTPE.Edge.Configuration;

/// <summary>Source-generated JSON (de)serialization of the configuration file: no reflection, AOT-safe.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    WriteIndented = true)]
[JsonSerializable(typeof(IotpeConfiguration))]
internal sealed partial class IotpeJsonContext : JsonSerializerContext;

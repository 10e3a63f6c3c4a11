using System.Text.Json.Serialization;

namespace IoTPE.Scripting.Tests;

[JsonSerializable(typeof(string[]))]
internal sealed partial class StringArrayContext : JsonSerializerContext;

[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class StringMapContext : JsonSerializerContext;

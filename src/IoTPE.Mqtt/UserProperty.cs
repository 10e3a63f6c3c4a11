namespace IoTPE.Mqtt;

/// <summary>A User Property (spec 3.1.2.11.8): a UTF-8 string pair. The same name may appear more than once and order is kept.</summary>
/// <param name="Name">The property name.</param>
/// <param name="Value">The property value.</param>
public readonly record struct UserProperty(string Name, string Value);

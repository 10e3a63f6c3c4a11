namespace IoTPE.Engine.Storage.MySql;

/// <summary>Quoting of identifiers and account names in SQL text, where parameters cannot be bound (CREATE USER, GRANT, CREATE DATABASE).</summary>
internal static class SqlName
{
    /// <summary>A database or table name in backticks (a backtick inside is doubled).</summary>
    public static string Identifier(string name) => "`" + name.Replace("`", "``", StringComparison.Ordinal) + "`";

    /// <summary>A string literal in single quotes (quotes and backslashes escaped).</summary>
    public static string Literal(string text) =>
        "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>A user at a host: <c>'name'@'host'</c>.</summary>
    public static string User(string name, string host) => Literal(name) + "@" + Literal(host);
}

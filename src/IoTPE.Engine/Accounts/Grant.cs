namespace IoTPE.Engine.Accounts;

/// <summary>
/// A right one account gives another on part of its namespace: <paramref name="Grantee"/> may
/// publish (or subscribe) to <c>/&lt;Owner&gt;/&lt;Filter&gt;</c>.
/// </summary>
/// <param name="Owner">The account whose topics the grant is about.</param>
/// <param name="Grantee">The account that receives the right.</param>
/// <param name="Kind">Publish or subscribe.</param>
/// <param name="Filter">A topic filter relative to the owner's namespace, e.g. <c>mytopic</c> or <c>sensors/#</c>.</param>
public sealed record Grant(string Owner, string Grantee, GrantKind Kind, string Filter)
{
    /// <summary>The absolute filter the grant covers: <c>/&lt;Owner&gt;/&lt;Filter&gt;</c>.</summary>
    public string AbsoluteFilter => "/" + Owner + "/" + Filter;
}

/// <summary>What a grant allows.</summary>
public enum GrantKind
{
    /// <summary>Publish to the topics (<c>grant_pub_topic</c>).</summary>
    Publish,

    /// <summary>Subscribe to and receive the topics (<c>grant_sub_topic</c>).</summary>
    Subscribe,
}

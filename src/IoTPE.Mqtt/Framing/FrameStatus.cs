namespace IoTPE.Mqtt;

/// <summary>The outcome of reading a frame (or a Variable Byte Integer) from buffered bytes.</summary>
public enum FrameStatus
{
    /// <summary>A whole item was read.</summary>
    Complete,

    /// <summary>The bytes end inside the item: read more and try again with the same start.</summary>
    NeedMoreData,

    /// <summary>The bytes can never form a valid item; the error says why.</summary>
    Error,
}

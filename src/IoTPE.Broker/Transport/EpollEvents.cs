namespace IoTPE.Broker.Transport;

/// <summary>The readiness bits of <c>epoll_event.events</c> that the loop uses.</summary>
[Flags]
internal enum EpollEvents : uint
{
    None = 0,
    In = 0x001,
    Out = 0x004,
    Error = 0x008,
    HangUp = 0x010,
}

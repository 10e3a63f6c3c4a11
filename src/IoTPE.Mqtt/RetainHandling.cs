namespace IoTPE.Mqtt;

/// <summary>Retain Handling subscription option (spec 3.8.3.1, bits 4 and 5). The value 3 is a Protocol Error.</summary>
public enum RetainHandling : byte
{
    /// <summary>0: send retained messages at the time of the subscribe.</summary>
    SendAtSubscribe = 0,

    /// <summary>1: send retained messages at subscribe only if the subscription does not currently exist.</summary>
    SendAtSubscribeIfNew = 1,

    /// <summary>2: do not send retained messages at the time of the subscribe.</summary>
    DoNotSend = 2,
}

namespace IoTPE.Mqtt;

/// <summary>Quality of service levels (spec 4.3). The value 3 is reserved and never valid.</summary>
public enum QualityOfService : byte
{
    /// <summary>QoS 0: at most once delivery.</summary>
    AtMostOnce = 0,

    /// <summary>QoS 1: at least once delivery.</summary>
    AtLeastOnce = 1,

    /// <summary>QoS 2: exactly once delivery.</summary>
    ExactlyOnce = 2,
}

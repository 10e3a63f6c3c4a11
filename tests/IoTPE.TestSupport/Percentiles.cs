namespace IoTPE.TestSupport;

/// <summary>Percentiles of benchmark measurements.</summary>
public static class Percentiles
{
    /// <summary>The value at fraction <paramref name="p"/> (0.5 for the median) of sorted measurements.</summary>
    public static double Of(double[] sorted, double p) => sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(p * sorted.Length))];
}

namespace IoTPE.TestSupport;

/// <summary>The repository a test or benchmark runs from: the folder above it that holds IoTPE.sln.</summary>
public static class RepositoryRoot
{
    /// <summary>Finds the repository root above the running assembly.</summary>
    /// <exception cref="InvalidOperationException">No IoTPE.sln above it.</exception>
    public static string Find()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "IoTPE.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find the repository root (IoTPE.sln) above " + AppContext.BaseDirectory);
    }
}

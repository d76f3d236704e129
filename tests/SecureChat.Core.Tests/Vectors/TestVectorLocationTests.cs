using SecureChat.Core.Tests.TestSupport;
using Xunit.Sdk;

namespace SecureChat.Core.Tests.Vectors;

/// <summary>The known-answer suites must fail, not skip, when the vectors are not where CI puts them.</summary>
public sealed class TestVectorLocationTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("securechat-vectors-");

    [Fact]
    public void The_vectors_are_found_next_to_the_repository()
    {
        var root = TestVectors.Root;
        Assert.Equal("test-vectors", Path.GetFileName(root));
        Assert.True(File.Exists(Path.Combine(root, "wycheproof", "x25519_test.json")));
    }

    [Fact]
    public void A_missing_vectors_folder_is_a_failure()
    {
        var repository = Directory.CreateDirectory(Path.Combine(_temp.FullName, "repo"));
        File.WriteAllText(Path.Combine(repository.FullName, "SecureChat.sln"), string.Empty);
        var deep = Directory.CreateDirectory(Path.Combine(repository.FullName, "tests", "bin", "Debug"));

        var thrown = Assert.ThrowsAny<XunitException>(() => TestVectors.FindRoot(deep.FullName));
        Assert.Contains("test vectors missing", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_repository_root_is_a_failure()
    {
        Assert.ThrowsAny<XunitException>(() => TestVectors.FindRoot(_temp.FullName));
    }

    public void Dispose() => _temp.Delete(recursive: true);
}

using SecureChat.Server.Configuration;

namespace SecureChat.Server.Tests.Configuration;

public sealed class HoconCheckTests
{
    [Fact]
    public void The_server_settings_parse()
    {
        Assert.Null(HoconCheck.Problem(File.ReadAllText(ServerHost.FindHocon(configured: null)!)));
    }

    [Theory]
    [InlineData("akka {\n  loglevel = INFO\n", "the '{' opened on line 1 is never closed")]
    [InlineData("akka { a = [1, 2 }\n", "'}' on line 1 closes nothing that is open")]
    [InlineData("akka {\n}\n}\n", "'}' on line 3 closes nothing that is open")]
    [InlineData("akka { a = \"open\n}", "the string opened on line 1 is never closed")]
    public void Unbalanced_brackets_and_strings_are_refused_with_the_line(string hocon, string problem)
    {
        Assert.Equal(problem, HoconCheck.Problem(hocon));
    }

    [Fact]
    public void Brackets_in_strings_and_comments_do_not_count()
    {
        Assert.Null(HoconCheck.Problem("# { not open\nakka { // [ nor this\n  a = \"}\"\n  b = \"\"\"{\n[\"\"\"\n}\n"));
    }

    [Fact]
    public void What_the_parser_refuses_is_refused()
    {
        Assert.NotNull(HoconCheck.Problem("akka { a = ${nowhere} }"));
    }

    [Fact]
    public void A_bad_value_is_named_with_its_key_and_file()
    {
        using var dir = new SecureChat.Testing.Hosting.TempDirectory();
        var file = Path.Combine(dir.Path, "bad.hocon");
        File.WriteAllText(file, "akka {\n  cluster { leader-actions-interval = abc }\n}\n");

        var line = StartupFailure.Describe(new InvalidOperationException("start failed", new FormatException("The input string 'abc' was not in a correct format.")), file);

        Assert.Equal($"HOCON file {file}: akka.cluster.leader-actions-interval = abc: The input string 'abc' was not in a correct format.", line);
    }
}

namespace SecureChat.Server.Configuration;

/// <summary>
/// The command-line switch of a <see cref="ServerOptions"/> property, when it is not the property's name in
/// kebab case (<c>CertificatesPath</c> is <c>--certs</c>), and the name its value goes by in <c>--help</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class OptionSwitchAttribute : Attribute
{
    public OptionSwitchAttribute(string name = "")
    {
        Name = name;
    }

    /// <summary>The switch with its dashes (<c>--certs</c>); empty: the property's name in kebab case.</summary>
    public string Name { get; }

    /// <summary>What <c>--help</c> calls the value (<c>DIR</c>, <c>HOST:PORT</c>); empty: one named after its type.</summary>
    public string Value { get; init; } = "";
}

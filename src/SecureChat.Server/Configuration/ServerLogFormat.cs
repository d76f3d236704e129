namespace SecureChat.Server.Configuration;

/// <summary>How the server writes its console log (<c>--log-format</c>).</summary>
public enum ServerLogFormat
{
    /// <summary>One line per event, with a UTC timestamp.</summary>
    Text,

    /// <summary>One JSON object per event (Microsoft.Extensions.Logging's JSON console formatter).</summary>
    Json,
}

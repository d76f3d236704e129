using System.Security.Cryptography;
using System.Text;

namespace SecureChat.Cli;

/// <summary>
/// The local store's passphrase: from <see cref="EnvironmentVariable"/> when set, else asked on the terminal without echo
/// (twice for a new store). With neither a terminal nor the variable there is nobody to ask: a clear refusal.
/// </summary>
internal static class StorePassphrase
{
    public const string EnvironmentVariable = "SECURECHAT_PASSPHRASE";

    /// <summary>The passphrase as UTF-8 (zero it after use), or null with <paramref name="problem"/> for the user.</summary>
    public static byte[]? Obtain(string storePath, bool creating, out string problem)
    {
        problem = string.Empty;
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return Encoding.UTF8.GetBytes(fromEnvironment);
        }

        if (Console.IsInputRedirected)
        {
            problem = $"the local store {storePath} needs a passphrase, and there is no terminal to ask for it on: set {EnvironmentVariable}";
            return null;
        }

        var first = Ask(creating ? $"choose a passphrase for the new local store {storePath}: " : $"passphrase for {storePath}: ");
        if (first.Length == 0)
        {
            problem = "an empty passphrase is not accepted";
            return null;
        }

        if (creating)
        {
            var again = Ask("the same passphrase again: ");
            var same = CryptographicOperations.FixedTimeEquals(first, again);
            CryptographicOperations.ZeroMemory(again);
            if (!same)
            {
                CryptographicOperations.ZeroMemory(first);
                problem = "the two passphrases differ; nothing was created";
                return null;
            }
        }

        return first;
    }

    /// <summary>Reads one line from the terminal without showing it (Backspace erases, Enter ends).</summary>
    private static byte[] Ask(string prompt)
    {
        Console.Write(prompt);
        var typed = new char[256];
        var length = 0;
        try
        {
            while (true)
            {
                var key = Console.ReadKey(intercept: true);
                if (key.Key == ConsoleKey.Enter)
                {
                    break;
                }

                if (key.Key == ConsoleKey.Backspace)
                {
                    length = Math.Max(0, length - 1);
                }
                else if (key.KeyChar != '\0' && !char.IsControl(key.KeyChar))
                {
                    if (length == typed.Length)
                    {
                        var larger = new char[typed.Length * 2];
                        typed.AsSpan().CopyTo(larger);
                        Array.Clear(typed);
                        typed = larger;
                    }

                    typed[length++] = key.KeyChar;
                }
            }

            Console.WriteLine();
            return Encoding.UTF8.GetBytes(typed, 0, length);
        }
        finally
        {
            Array.Clear(typed);
        }
    }
}

namespace SecureChat.Cli.Chat;

/// <summary>
/// Tab completion for the chat line: command names for a first word starting with '/', room names after the commands
/// that take a room, member ids after those that take an id, and member ids (as "id: ") at the start of a message.
/// </summary>
internal sealed class ChatCompleter(Func<IReadOnlyCollection<string>> rooms, Func<IReadOnlyCollection<string>> members) : ICompleter
{
    private static readonly HashSet<string> RoomCommands = new(["/join", "/leave", "/send-queued", "/drop-queued"], StringComparer.OrdinalIgnoreCase);
    private static readonly HashSet<string> MemberCommands = new(["/invite", "/kick", "/remove", "/trust"], StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> Complete(string before, string prefix)
    {
        var words = before.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return prefix.StartsWith('/')
                ? [.. ChatInput.CommandNames.Where(c => c.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))]
                : [.. Sorted(members()).Select(id => id + ":")];
        }

        if (words.Length == 1 && RoomCommands.Contains(words[0]))
        {
            return Sorted(rooms());
        }

        if (words.Length == 1 && MemberCommands.Contains(words[0]))
        {
            return Sorted(members());
        }

        // Later words of a message: member ids, as people name each other in a line.
        return words[0].StartsWith('/') && !words[0].Equals("/msg", StringComparison.OrdinalIgnoreCase) ? [] : Sorted(members());
    }

    private static List<string> Sorted(IReadOnlyCollection<string> words) => [.. words.Order(StringComparer.Ordinal)];
}

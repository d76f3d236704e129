using SecureChat.Client.Session;
using SecureChat.Client.Store;
using SecureChat.Testing.EndToEnd;
using SecureChat.Testing.Hosting;
using SecureChat.Testing.RealClients;

namespace SecureChat.Client.Tests.EndToEnd;

/// <summary>
/// With a local store nothing leaves before the state behind it is on the disk: a message that went out before its
/// sender chain's step was stored would, after a crash, be encrypted again under the same generation (the same key) and
/// dropped by every receiver as a replay.
/// </summary>
public sealed class StoreWriteOrderTests() : EndToEndTest("e2e-store-order")
{
    private static readonly byte[] Passphrase = "correct horse battery staple"u8.ToArray();

    [Fact]
    public async Task A_message_leaves_only_once_the_store_has_written_the_state_that_sent_it()
    {
        using var folder = new TempDirectory();
        var options = Server.ChatClientOptions("alice");
        var store = LocalStore.Create(folder.Path, options.Identity, Passphrase, StoreKdf.Weak);
        await using var alice = TestChatClient.Start(options with { Store = store, OwnsStore = true }, System);
        await using var bob = TestChatClient.Start(Server, System, "bob");
        await alice.WaitForNextAsync<Connected>();
        await bob.WaitForNextAsync<Connected>();
        alice.Client.Join("lobby");
        await alice.WaitForNextAsync<KeyEstablished>();
        bob.Client.Join("lobby");
        await bob.WaitForNextAsync<KeyEstablished>();
        await alice.WaitForNextAsync<KeyEstablished>(k => k.MemberCount == 2);

        using var release = new ManualResetEventSlim();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.BeforeWrite = () =>
        {
            held.TrySetResult();
            release.Wait(TimeSpan.FromSeconds(30));
        };
        try
        {
            alice.Client.Send("lobby", "only after the write");
            await held.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // The disk is stuck: the message must not reach the server, so bob cannot have it.
            await Assert.ThrowsAsync<TimeoutException>(() => bob.WaitForNextAsync<MessageReceived>(timeout: TimeSpan.FromSeconds(2)));
        }
        finally
        {
            store.BeforeWrite = null;
            release.Set();
        }

        Assert.Equal("only after the write", (await bob.WaitForNextAsync<MessageReceived>()).Text);
    }
}

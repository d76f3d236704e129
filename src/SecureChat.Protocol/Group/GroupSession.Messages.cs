using System.Security.Cryptography;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Wire;

namespace SecureChat.Protocol.Group;

public sealed partial class GroupSession
{
    /// <summary>
    /// Seals <paramref name="text"/> for the current epoch with the next key of our chain (used once, then erased).
    /// Refused while joining, after removal, when a member's identity key changed and is not accepted, or when too long.
    /// </summary>
    public SendOutcome Encrypt(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ExpireEpochs();
        if (Status != GroupStatus.Active || _current?.Send is null)
        {
            return new SendRefused(Status == GroupStatus.Joining ? SendRefusal.NotJoined : SendRefusal.NotAMember, []);
        }

        var current = _current;
        var blocking = BlockingKeyChangesBeforeSending(current);
        if (blocking.Count > 0)
        {
            return new SendRefused(SendRefusal.BlockedByKeyChange, blocking.Select(c => c.ClientId).ToList());
        }

        var body = Hashing.Utf8(text);
        if (body.Length > Options.MaxBodyBytes)
        {
            return new SendRefused(SendRefusal.BodyTooLong, []);
        }

        if (current.Send.NextGeneration == ulong.MaxValue)
        {
            return new SendRefused(SendRefusal.GenerationExhausted, []);
        }

        return Seal(current, body, summary: false);
    }

    /// <summary>
    /// Opens an APPLICATION envelope. Every outcome says exactly why a message was not delivered; a
    /// <see cref="MessageHeld"/> envelope should be retried after the next accepted commit.
    /// </summary>
    public DecryptOutcome Decrypt(Envelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ExpireEpochs();
        return WithReports(Open(envelope));
    }

    private DecryptOutcome Open(Envelope envelope)
    {
        if (envelope.Type != MessageType.Application || envelope.Version != WireLimits.ProtocolVersion
            || envelope.Nonce.Length != CipherSuites.NonceSize || envelope.Ciphertext.Length < CipherSuites.TagSize
            || envelope.HistoryTag.Length != WireLimits.HistoryTagBytes || envelope.PayloadCase != Envelope.PayloadOneofCase.None)
        {
            return new MessageRejected(DecryptRejection.Malformed);
        }

        if (!string.Equals(envelope.RoomId, RoomId, StringComparison.Ordinal))
        {
            return new MessageRejected(DecryptRejection.WrongRoom);
        }

        if (IsSelf(envelope.SenderId))
        {
            return new MessageRejected(DecryptRejection.FromSelf);
        }

        var state = FindEpoch(envelope.Epoch, out var notFound);
        if (state is null)
        {
            return notFound!;
        }

        if (!Hashing.FixedTimeEquals(envelope.HistoryTag.Span, state.HistoryTag))
        {
            // Same epoch number, another transcript: the sender is on a different history of the room (unauthenticated).
            return new MessageRejected(DecryptRejection.OtherHistory);
        }

        if (envelope.CipherSuite != state.Suite)
        {
            return new MessageRejected(DecryptRejection.WrongSuite);
        }

        if (!state.Members.TryGetValue(envelope.SenderId, out var sender) || !state.Receive.TryGetValue(sender.ClientId, out var chain))
        {
            return new MessageRejected(DecryptRejection.NotAMember);
        }

        var generation = envelope.Sequence;
        byte[] messageKey;
        ReceiveChain.Lookahead? lookahead = null;
        if (generation < chain.NextGeneration)
        {
            if (!chain.TryGetSkipped(generation, out messageKey))
            {
                return new MessageRejected(DecryptRejection.Replay);
            }
        }
        else
        {
            if (generation - chain.NextGeneration > Options.MaxForwardJump)
            {
                return new MessageRejected(DecryptRejection.TooFarAhead);
            }

            lookahead = chain.Derive(generation);
            messageKey = lookahead.MessageKey;
        }

        var associatedData = HeaderAad.Encode(envelope, state.TranscriptHash);
        if (!Aead.TryOpen(state.Suite, messageKey, envelope.Nonce.Span, associatedData, envelope.Ciphertext.Span, out var plaintextBytes))
        {
            lookahead?.Discard();
            return new MessageRejected(DecryptRejection.AuthenticationFailed);
        }

        try
        {
            if (!WireParsing.TryParse(ApplicationPlaintext.Parser, plaintextBytes, out var plaintext))
            {
                lookahead?.Discard();
                return new MessageRejected(DecryptRejection.Malformed);
            }

            var signed = KeySchedule.MessageSignedBytes(associatedData, plaintext.SentAtMs, plaintext.Body.Span, plaintext.Previous, plaintext.Summary);
            if (!Signatures.Verify(sender.IdentityKey, Labels.MessageSignature, signed, plaintext.Signature.Span))
            {
                // Keep the key: a forger in the group must not be able to burn the real message's key.
                lookahead?.Discard();
                return new MessageRejected(DecryptRejection.Forged);
            }

            string text;
            try
            {
                text = new System.Text.UTF8Encoding(false, true).GetString(plaintext.Body.Span);
            }
            catch (System.Text.DecoderFallbackException)
            {
                lookahead?.Discard();
                return new MessageRejected(DecryptRejection.Malformed);
            }

            if (plaintext.Padding.Span.IndexOfAnyExcept((byte)0) >= 0 || plaintext.SentAtMs > long.MaxValue
                || (plaintext.Summary && (plaintext.Body.Length > 0 || plaintext.Previous is null)))
            {
                lookahead?.Discard();
                return new MessageRejected(DecryptRejection.Malformed);
            }

            var reportedBefore = RecordArrival(state, sender.ClientId, generation);
            if (plaintext.Previous is { } count)
            {
                RecordCount(sender.ClientId, count, state.Epoch);
            }

            if (lookahead is null)
            {
                chain.ConsumeSkipped(generation);
            }
            else
            {
                chain.Advance(lookahead);

                // Only cached keys can push a cap; in-order delivery adds none, and summing every chain of the
                // room per message would cost O(members).
                if (lookahead.Skipped.Count > 0)
                {
                    EnforceSkippedLimits(chain);
                }
            }

            _lastActivityMs[sender.ClientId] = _clock.UtcNowMs;
            if (plaintext.Summary)
            {
                return new SummaryDelivered(sender.ClientId, state.Epoch, generation, plaintext.Previous!);
            }

            return new MessageDelivered(sender.ClientId, text, (long)plaintext.SentAtMs, state.Epoch, generation,
                SenderKeyUnaccepted: !_trust.IsTrusted(sender.ClientId, sender.IdentityKey))
            {
                Previous = plaintext.Previous,
                ReportedWithheldBefore = reportedBefore,
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintextBytes);
        }
    }

    /// <summary>
    /// A summary (PROTOCOL.md §10.4): no text, only our count for the epoch before, when we sent in it, have sent nothing in
    /// this one yet and no commit of ours carried the count. Null when none is due. Not held back by an unaccepted key
    /// change: it says only how many messages we sent, which the relay saw anyway.
    /// </summary>
    public MessageSealed? CreateSummary()
    {
        ExpireEpochs();
        if (Status != GroupStatus.Active || _current is not { Send: { NextGeneration: 0 }, SummaryDue: true } current)
        {
            return null;
        }

        current.SummariesSent++;
        return Seal(current, [], summary: true);
    }

    private MessageSealed Seal(EpochState current, byte[] body, bool summary)
    {
        var (generation, messageKey) = current.Send!.Next();
        current.SummaryDue = false;
        try
        {
            var envelope = new Envelope
            {
                Version = WireLimits.ProtocolVersion,
                Type = MessageType.Application,
                SenderId = LocalClientId,
                RoomId = RoomId,
                Epoch = current.Epoch,
                Sequence = generation,
                CipherSuite = current.Suite,
                Nonce = ByteString.CopyFrom(RandomBytes(CipherSuites.NonceSize)),
                HistoryTag = ByteString.CopyFrom(current.HistoryTag),
            };
            var associatedData = HeaderAad.Encode(envelope, current.TranscriptHash);
            var sentAt = (ulong)Math.Max(0, _clock.UtcNowMs);
            var previous = generation == 0 ? current.PreviousSent : null;
            var plaintext = new ApplicationPlaintext
            {
                SentAtMs = sentAt,
                Body = ByteString.CopyFrom(body),
                Signature = ByteString.CopyFrom(_identity.IdentityKey.Sign(Labels.MessageSignature,
                    KeySchedule.MessageSignedBytes(associatedData, sentAt, body, previous, summary))),
                Padding = ByteString.CopyFrom(new byte[PaddingLength(body.Length)]),
                Previous = previous,
                Summary = summary,
            };
            var plaintextBytes = plaintext.ToByteArray();
            envelope.Ciphertext = ByteString.CopyFrom(Aead.Seal(current.Suite, messageKey, envelope.Nonce.Span, associatedData, plaintextBytes));
            CryptographicOperations.ZeroMemory(plaintextBytes);
            current.MessagesSent++;
            return new MessageSealed(envelope, current.Epoch, generation);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(messageKey);
        }
    }

    /// <summary>
    /// Test hook: the key any member of the epoch can derive for another sender's generation (without consuming it),
    /// so tests can play a malicious insider forging a message in someone else's name.
    /// </summary>
    internal byte[]? InsiderMessageKey(ulong epoch, string senderId, ulong generation)
    {
        var state = _current?.Epoch == epoch ? _current : _retired.FirstOrDefault(s => s.Epoch == epoch);
        if (state is null || !state.Receive.TryGetValue(senderId, out var chain) || generation < chain.NextGeneration)
        {
            return null;
        }

        var lookahead = chain.Derive(generation);
        var key = (byte[])lookahead.MessageKey.Clone();
        lookahead.Discard();
        return key;
    }

    private EpochState? FindEpoch(ulong epoch, out DecryptOutcome? notFound)
    {
        notFound = null;
        if (_current is { } current && current.Epoch == epoch)
        {
            return current;
        }

        var retired = _retired.FirstOrDefault(s => s.Epoch == epoch);
        if (retired is not null)
        {
            return retired;
        }

        switch (Status)
        {
            case GroupStatus.Joining:
                notFound = new MessageHeld(epoch);
                break;
            case GroupStatus.Removed:
                notFound = new MessageRejected(epoch >= _removedAtEpoch ? DecryptRejection.NotAMember
                    : epoch < _firstEpoch ? DecryptRejection.EpochBeforeJoin : DecryptRejection.ExpiredEpoch);
                break;
            default:
                notFound = epoch > Epoch ? new MessageHeld(epoch)
                    : epoch < _firstEpoch ? new MessageRejected(DecryptRejection.EpochBeforeJoin)
                    : new MessageRejected(DecryptRejection.ExpiredEpoch);
                break;
        }

        return null;
    }

    private void EnforceSkippedLimits(ReceiveChain chain)
    {
        while (chain.SkippedCount > Options.MaxSkippedKeysPerSender && chain.EvictOldest())
        {
        }

        var states = _retired.Append(_current).OfType<EpochState>().ToList();
        var total = states.Sum(s => s.SkippedCount);
        while (total > Options.MaxSkippedKeysPerRoom)
        {
            // Oldest epoch first, then the sender holding most cached keys.
            var victim = states.SelectMany(s => s.Receive.Values).Where(c => c.SkippedCount > 0)
                .OrderByDescending(c => c.SkippedCount).FirstOrDefault();
            var oldest = states.FirstOrDefault(s => s.SkippedCount > 0)?.Receive.Values.Where(c => c.SkippedCount > 0)
                .OrderByDescending(c => c.SkippedCount).FirstOrDefault();
            if ((oldest ?? victim)?.EvictOldest() != true)
            {
                break;
            }

            total--;
        }
    }

    private int PaddingLength(int bodyLength)
    {
        var block = Math.Max(1, Options.PaddingBlock);
        return (block - (bodyLength % block)) % block;
    }

    private byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        _random.Fill(bytes);
        return bytes;
    }
}

using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using SecureChat.Core.Crypto;
using SecureChat.Core.Framing;
using SecureChat.Core.Wire;

namespace SecureChat.Benchmarks.Micro;

/// <summary>What the relay does per frame (parse) and what a sender does around its ciphertext (encode).</summary>
[MemoryDiagnoser]
public class FrameBenchmarks
{
    private Envelope _envelope = null!;
    private byte[] _frame = null!;

    [Params(256, 4096)]
    public int PayloadBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _envelope = new Envelope
        {
            Version = WireLimits.ProtocolVersion,
            Type = MessageType.Application,
            SenderId = "alice@example.org",
            RoomId = "room-benchmark",
            Epoch = 12,
            Sequence = 345,
            Nonce = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(WireLimits.NonceBytes)),
            Ciphertext = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(PayloadBytes)),
            CipherSuite = CipherSuite.Aes256GcmX25519Ed25519Sha256,
        };
        _frame = FrameCodec.Encode(_envelope);
    }

    [Benchmark(Description = "encode envelope into a frame")]
    public byte[] Encode() => FrameCodec.Encode(_envelope);

    [Benchmark(Description = "length prefix only (the bare relay's parse)")]
    public int ReadLength() => FrameCodec.ReadLength(_frame, WireLimits.DefaultMaxFrameBytes);

    [Benchmark(Description = "split frame + decode and validate envelope")]
    public Envelope Parse()
    {
        FrameCodec.TryDecode(_frame, WireLimits.DefaultMaxFrameBytes, out var body, out _);
        return EnvelopeCodec.Decode(body);
    }
}

/// <summary>The AEAD on its own, per suite, at the relay benchmark's payload size and a larger one.</summary>
[MemoryDiagnoser]
public class AeadBenchmarks
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(CipherSuites.KeySize);
    private readonly byte[] _nonce = RandomNumberGenerator.GetBytes(CipherSuites.NonceSize);
    private readonly byte[] _associatedData = RandomNumberGenerator.GetBytes(96);
    private byte[] _plaintext = null!;
    private byte[] _ciphertext = null!;

    [ParamsSource(nameof(Suites))]
    public CipherSuite Suite { get; set; }

    [Params(256, 4096)]
    public int Bytes { get; set; }

    public static IEnumerable<CipherSuite> Suites() =>
        new[] { CipherSuite.Aes256GcmX25519Ed25519Sha256, CipherSuite.Chacha20Poly1305X25519Ed25519Sha256 }.Where(CipherSuites.IsSupported);

    [GlobalSetup]
    public void Setup()
    {
        _plaintext = RandomNumberGenerator.GetBytes(Bytes);
        _ciphertext = Aead.Seal(Suite, _key, _nonce, _associatedData, _plaintext);
    }

    [Benchmark]
    public byte[] Seal() => Aead.Seal(Suite, _key, _nonce, _associatedData, _plaintext);

    [Benchmark]
    public byte[] Open() => Aead.Open(Suite, _key, _nonce, _associatedData, _ciphertext);
}

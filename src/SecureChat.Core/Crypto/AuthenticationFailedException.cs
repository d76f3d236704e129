namespace SecureChat.Core.Crypto;

/// <summary>
/// AEAD decryption failed: wrong key, or ciphertext, tag, nonce or associated data altered.
/// No part of the plaintext is ever released when this is thrown.
/// </summary>
public sealed class AuthenticationFailedException : Exception
{
    public AuthenticationFailedException()
        : base("authentication failed")
    {
    }

    public AuthenticationFailedException(string message)
        : base(message)
    {
    }

    public AuthenticationFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

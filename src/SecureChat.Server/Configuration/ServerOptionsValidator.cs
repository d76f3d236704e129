using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace SecureChat.Server.Configuration;

/// <summary>Refuses to start with out-of-range settings (data annotations plus the cross-field checks).</summary>
public sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        var errors = results.Select(r => r.ErrorMessage ?? "invalid setting").Concat(options.ConsistencyErrors()).ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => $"{ServerOptions.Section}: {e}"));
    }
}

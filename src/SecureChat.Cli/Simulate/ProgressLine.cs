using System.Globalization;
using SecureChat.Client.Simulation;

namespace SecureChat.Cli.Simulate;

/// <summary>A progress line on stderr: rewritten in place on a terminal, one line a second otherwise.</summary>
internal sealed class ProgressLine : IDisposable
{
    private readonly Func<SimulationProgress> _progress;
    private readonly Timer _timer;
    private readonly bool _inPlace = !Console.IsErrorRedirected;
    private readonly Lock _gate = new();
    private bool _stopped;

    public ProgressLine(Func<SimulationProgress> progress)
    {
        _progress = progress;
        var period = _inPlace ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(1);
        _timer = new Timer(_ => Print(), null, period, period);
    }

    public void Stop()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            _timer.Change(Timeout.Infinite, Timeout.Infinite);
            Write();
            Console.Error.WriteLine();
        }
    }

    public void Dispose()
    {
        Stop();
        _timer.Dispose();
    }

    private void Print()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            Write();
            if (!_inPlace)
            {
                Console.Error.WriteLine();
            }
        }
    }

    private void Write()
    {
        var p = _progress();
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{p.Phase,-10} connected {p.Connected}/{p.Clients}  keyed {p.Keyed}/{p.Clients}  sent {p.Sent}/{p.SendTotal}  delivered {p.Delivered}/{p.Expected}  reconnects {p.Reconnects}  resumed {p.Resumes}");
        Console.Error.Write(_inPlace ? "\r" + line + "\u001b[K" : line);
    }
}

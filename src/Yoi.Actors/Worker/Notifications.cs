using Yoi.Messages;

namespace Yoi.Actors.Worker;

/// <summary>Renders notify-buffer entries into the system items the model sees (the notify wrapper).</summary>
public static class Notifications
{
    public static string Wrap(string message) =>
        $"[Notification]\n{message}\n\nThis is a notification, not a blocking request. Continue with your current work unless this changes what you should do.";

    public static SystemItem Render(PendingNotification entry) => entry switch
    {
        PendingNotify n => new NotificationSystemItem(n.Message, Wrap(n.Message)),
        PendingWorkerEvent w => new WorkerEventSystemItem(w.Event, Wrap(w.Event.Render())),
        _ => throw new ArgumentOutOfRangeException(nameof(entry)),
    };
}

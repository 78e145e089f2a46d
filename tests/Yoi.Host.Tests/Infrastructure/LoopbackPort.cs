using System.Net;
using System.Net.Sockets;

namespace Yoi.Host.Tests.Infrastructure;

/// <summary>A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick), for a node's --http / --port.</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

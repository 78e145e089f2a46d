using System.Diagnostics;
using BenchmarkDotNet.Running;
using Yoi.Bench;

// --journal-sync (or --sync, as the side-by-side peers call it): normal | full.
if (args.SkipWhile(a => a != "--journal-sync" && a != "--sync").Skip(1).FirstOrDefault() is { } sync)
    BenchNode.Sync = Enum.Parse<Yoi.Actors.Hosting.SqliteSync>(sync, ignoreCase: true);

// Whole-system figures (console runner) by default; `micro` runs the BenchmarkDotNet suite.
if (args.Length > 0 && args[0] == "micro")
{
    BenchmarkSwitcher.FromAssembly(typeof(Micro).Assembly).Run(args[1..]);
    return 0;
}

if (args.Length > 1 && args[0] == "--side-by-side-part" && args[1] == "yoi")
{
    // One part of bench/run-side-by-side.sh: the shared workload on Yoi, one JSON object (stdout, or --out FILE).
    var dir = Path.Combine(Path.GetTempPath(), "yoi-sbs-" + Guid.NewGuid().ToString("N")[..8]);
    Directory.CreateDirectory(dir);
    try
    {
        var json = await SideBySide.RunAsync(dir, SideBySide.Options.Parse(args));
        var text = json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var outFile = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault();
        if (outFile is null) Console.WriteLine(text);
        else File.WriteAllText(outFile, text);
    }
    finally
    {
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }
    return 0;
}

if (args.Contains("--compaction"))
{
    // Journal recovery of a Worker with 50,000 entries across 5 compactions (--quick: 10,000).
    var dir = Path.Combine(Path.GetTempPath(), "yoi-bench-compaction-" + Guid.NewGuid().ToString("N")[..8]);
    Directory.CreateDirectory(dir);
    try { await CompactionBench.RunAsync(dir, entries: args.Contains("--quick") ? 10_000 : 50_000); }
    finally { try { Directory.Delete(dir, true); } catch (IOException) { } }
    return 0;
}

// --telemetry off|sampled|on (BenchTelemetry): the same figures with the Worker's telemetry listened to.
using var telemetry = BenchTelemetry.Start(args.SkipWhile(a => a != "--telemetry").Skip(1).FirstOrDefault() ?? "off");
var quick = args.Contains("--quick");
if (args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault() == "telemetry-cost")
{
    await TelemetryCost.RunAsync(args.SkipWhile(a => a != "--telemetry").Skip(1).FirstOrDefault() ?? "off", quick ? 20_000 : 200_000);
    return 0;
}
var postgres = args.SkipWhile(a => a != "--postgres").Skip(1).FirstOrDefault();
// --only latency|throughput|recovery runs one figure (the PostgreSQL figure runs whenever --postgres is given).
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
bool Runs(string figure) => only is null || only == figure;
var root = Path.Combine(Path.GetTempPath(), "yoi-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
try
{
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
    if (only == "busy")
        await BusyBench.RunAsync(Path.Combine(root, "busy"), int.Parse(args.SkipWhile(a => a != "--agents").Skip(1).FirstOrDefault() ?? "100"),
            double.Parse(args.SkipWhile(a => a != "--seconds").Skip(1).FirstOrDefault() ?? "10"),
            int.Parse(args.SkipWhile(a => a != "--warm-up").Skip(1).FirstOrDefault() ?? "1000"), args.Contains("--allocation-types"));
    if (only == "scale") await ScaleBench.RunAsync(Path.Combine(root, "scale"), ScaleBench.Options.Parse(args, quick));
    if (only == "journal") await JournalProbe.RunAsync(Path.Combine(root, "journal"), int.Parse(args.SkipWhile(a => a != "--writes").Skip(1).FirstOrDefault() ?? "2000"));
    // JIT warm-up turns before the latency figure (SideBySide.WarmUpAsync; 0 measures a cold node).
    var warmUp = int.Parse(args.SkipWhile(a => a != "--warm-up").Skip(1).FirstOrDefault() ?? (quick ? "1000" : "3000"));
    if (Runs("latency")) await SystemBench.RunLatencyAsync(Path.Combine(root, "latency"), runs: quick ? 100 : 500, warmUpRuns: warmUp);
    if (Runs("latency-no-snapshots")) await SystemBench.RunLatencyAsync(Path.Combine(root, "latency-ns"), runs: quick ? 100 : 500, snapshotEvery: int.MaxValue);
    if (Runs("throughput")) await SystemBench.RunThroughputAsync(Path.Combine(root, "throughput"), workers: 200, runsPerWorker: quick ? 3 : 10);
    if (Runs("recovery")) await SystemBench.RunRecoveryAsync(Path.Combine(root, "recovery"), entries: quick ? 2_000 : 10_000,
        samplesPerCase: int.Parse(args.SkipWhile(a => a != "--recovery-samples").Skip(1).FirstOrDefault() ?? "5"));
    if (postgres is not null)
        await SystemBench.RunThroughputAsync(Path.Combine(root, "pg"), workers: 1000, runsPerWorker: quick ? 2 : 5, postgres);
}
finally
{
    try { Directory.Delete(root, true); } catch (IOException) { }
}
return 0;

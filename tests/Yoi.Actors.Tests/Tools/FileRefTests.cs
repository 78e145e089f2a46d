using Yoi.Actors.Manifest;
using Yoi.Actors.Tests.Scope;
using Yoi.Actors.Tools;
using Yoi.Messages;

namespace Yoi.Actors.Tests.Tools;

/// <summary>file_ref resolution (reference-protocol §1, acceptance 18–20 at the resolver).</summary>
public sealed class FileRefTests : IDisposable
{
    private readonly TempTree _t = new();

    public void Dispose() => _t.Dispose();

    private WorkerManifest Manifest(string extra = "") => ManifestLoader.Parse($"""
        [model]
        scheme = "anthropic"
        [worker]
        workspace = "{_t.P("ws")}"
        {extra}
        [[scope.allow]]
        target = "{_t.P("ws")}"
        permission = "write"
        [[scope.deny]]
        target = "{_t.P("ws/secret")}"
        permission = "read"
        """, _t.Root);

    [Fact]
    public void Acceptance18_a_readable_file_becomes_a_File_attachment()
    {
        _t.File("ws/notes.md", "the notes body\n");
        var r = FileRefs.Resolve([new TextSegment("see "), new FileRefSegment("notes.md")], Manifest());
        var a = Assert.Single(r.Attachments);
        Assert.Equal("notes.md", a.Path);
        Assert.Equal("[File: notes.md]\nthe notes body\n", a.Body);
        Assert.Empty(r.Alerts);
    }

    [Fact]
    public void Acceptance19_body_is_cut_to_file_upload_max_bytes_with_the_hint()
    {
        _t.File("ws/ten.txt", "0123456789");
        var r = FileRefs.Resolve([new FileRefSegment("ten.txt")], Manifest("[engine.file_upload]\nmax_bytes = 5"));
        var body = Assert.Single(r.Attachments).Body;
        Assert.StartsWith("[File: ten.txt]\n01234\n", body);
        Assert.DoesNotContain("56789", body);
        Assert.Contains("truncated, 10 bytes total", body);
    }

    [Fact]
    public void Acceptance20_missing_or_out_of_scope_refs_alert_and_attach_nothing()
    {
        _t.File("ws/secret/k.txt", "k");
        var r = FileRefs.Resolve([new FileRefSegment("src/lib.rs"), new FileRefSegment("secret/k.txt"), new FileRefSegment("../x")], Manifest());
        Assert.Empty(r.Attachments);
        Assert.Equal(3, r.Alerts.Count);
        Assert.StartsWith("file ref @src/lib.rs could not be resolved: file not found", r.Alerts[0]);
        Assert.StartsWith("file ref @secret/k.txt could not be resolved: path is outside allowed scope", r.Alerts[1]);
        Assert.StartsWith("file ref @../x could not be resolved: path is outside allowed scope", r.Alerts[2]);
    }

    [Fact]
    public void A_directory_becomes_a_shallow_Dir_listing_of_readable_entries()
    {
        _t.File("ws/src/a.cs");
        _t.File("ws/src/deep/b.cs");
        var r = FileRefs.Resolve([new FileRefSegment("src"), new FileRefSegment(".")], Manifest());
        Assert.Equal("[Dir: src]\na.cs\ndeep/", r.Attachments[0].Body);
        Assert.DoesNotContain("secret", r.Attachments[1].Body);
    }

    [Fact]
    public void Without_a_scope_refs_cannot_be_resolved()
    {
        var r = FileRefs.Resolve([new FileRefSegment("a.txt")], ManifestLoader.Parse("[model]\nscheme = \"anthropic\"\n", _t.Root));
        Assert.Equal("file ref @a.txt could not be resolved: this Worker has no filesystem scope", Assert.Single(r.Alerts));
    }
}

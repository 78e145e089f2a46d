using Yoi.Messages;

namespace Yoi.Messages.Tests;

public sealed class WorkerNameTests
{
    [Theory]
    [InlineData("alice")]
    [InlineData("alice/c1")]
    [InlineData("a.b_c-D9/x/y")]
    public void Names_whose_every_segment_follows_the_rule_are_valid(string name)
    {
        Assert.True(WorkerName.IsValid(name));
        Assert.Null(WorkerName.Validate(name));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("alice/")]
    [InlineData("/alice")]
    [InlineData("alice//c1")]
    [InlineData("al ice")]
    [InlineData("alice/c:1")]
    public void A_name_with_an_empty_or_foreign_segment_is_rejected_naming_the_rule(string? name)
    {
        Assert.False(WorkerName.IsValid(name));
        Assert.Equal($"invalid worker name `{name}`: {WorkerName.Rule}", WorkerName.Validate(name));
    }

    [Fact]
    public void A_segment_is_at_most_64_characters()
    {
        Assert.True(WorkerName.IsValidSegment(new string('a', 64)));
        Assert.False(WorkerName.IsValidSegment(new string('a', 65)));
        Assert.False(WorkerName.IsValid("alice/" + new string('a', 65)));
    }

    [Fact]
    public void A_nested_name_knows_its_root_short_name_parent_and_depth()
    {
        var name = new WorkerName("alice/c1/d1");
        Assert.Equal("alice", name.Root);
        Assert.Equal("d1", name.Short);
        Assert.Equal(new WorkerName("alice/c1"), name.Parent);
        Assert.Equal(2, name.Depth);
        Assert.True(name.IsChild);
    }

    [Fact]
    public void A_top_level_name_is_its_own_root_and_has_no_parent()
    {
        var name = new WorkerName("alice");
        Assert.Equal("alice", name.Root);
        Assert.Equal("alice", name.Short);
        Assert.Null(name.Parent);
        Assert.Equal(0, name.Depth);
        Assert.False(name.IsChild);
    }

    [Fact]
    public void Below_means_strictly_under_a_whole_segment_prefix()
    {
        var alice = new WorkerName("alice");
        Assert.True(new WorkerName("alice/c1").IsBelow(alice));
        Assert.True(new WorkerName("alice/c1/d1").IsBelow(alice));
        Assert.False(alice.IsBelow(alice));
        Assert.False(new WorkerName("alicex/c1").IsBelow(alice));
    }

    [Fact]
    public void The_path_below_an_ancestor_and_the_next_child_on_the_way_down()
    {
        var alice = new WorkerName("alice");
        var d1 = alice.Child("c1").Child("d1");
        Assert.Equal("alice/c1/d1", d1.Value);
        Assert.Equal("c1/d1", d1.RelativeTo(alice));
        Assert.Equal(new WorkerName("alice/c1"), d1.NextBelow(alice));
        Assert.Equal(alice.Child("c1"), alice.Child("c1").NextBelow(alice));
    }
}

using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnitV3;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace Yoi.Actors.Tests.Architecture;

/// <summary>The layering of docs/architecture.md, enforced: the engine layer (Engine, Providers, Tools, Scope, Manifest,
/// Compaction) knows nothing of Akka or of the actor side (Worker, Delegation), and the protocol assembly knows nothing
/// of Akka. One assembly keeps the layout of the design; these rules are what the compiler would check across two.</summary>
public sealed class LayerBoundaryTests
{
    private static readonly ArchUnitNET.Domain.Architecture Code = new ArchLoader()
        .LoadAssemblies(typeof(Yoi.Actors.Engine.TurnEngine).Assembly, typeof(Yoi.Messages.IYoiMessage).Assembly)
        .Build();

    public static TheoryData<string> EngineLayer => ["Engine", "Providers", "Tools", "Scope", "Manifest", "Compaction"];

    [Theory]
    [MemberData(nameof(EngineLayer))]
    public void Engine_layer_namespace_references_no_Akka_type(string folder) =>
        Types().That().ResideInNamespaceMatching($@"^Yoi\.Actors\.{folder}(\..+)?$")
            .Should().NotDependOnAnyTypesThat().ResideInNamespaceMatching(@"^Akka(\..+)?$")
            .Check(Code);

    [Theory]
    [MemberData(nameof(EngineLayer))]
    public void Engine_layer_namespace_references_nothing_of_the_actor_side(string folder) =>
        Types().That().ResideInNamespaceMatching($@"^Yoi\.Actors\.{folder}(\..+)?$")
            .Should().NotDependOnAnyTypesThat().ResideInNamespaceMatching(@"^Yoi\.Actors\.(Worker|Delegation)(\..+)?$")
            .Check(Code);

    [Fact]
    public void Protocol_assembly_references_no_Akka_type() =>
        Types().That().ResideInAssembly(typeof(Yoi.Messages.IYoiMessage).Assembly)
            .Should().NotDependOnAnyTypesThat().ResideInNamespaceMatching(@"^Akka(\..+)?$")
            .Check(Code);

    [Fact]
    public void Protocol_assembly_does_not_reference_an_Akka_assembly() =>
        Assert.DoesNotContain(typeof(Yoi.Messages.IYoiMessage).Assembly.GetReferencedAssemblies(),
            a => a.Name!.StartsWith("Akka", StringComparison.Ordinal));
}

import { osBaseline, readProgram } from "./components/program";
import { ModelCacheNode } from "./components/ModelCacheNode";
import { EdgeCacheNode } from "./components/EdgeCacheNode";
import { VipPair } from "./components/VipPair";
import { OpsTools } from "./components/OpsTools";
import { deploymentGate } from "./components/deploymentGate";
import type { HostSpec } from "./components/config";
import type { HardenedPi } from "./components/HardenedPi";

const program = readProgram();
const { stack, connection } = program;
// The OS baseline of each Pi comes before anything else on it.
const { edgeOs, modelOs, outputs } = osBaseline(program);

const modelCache = new ModelCacheNode("model-cache", {
  ...program.modelCache.args,
  host: stack.model,
  connection: connection(stack.model),
  after: modelOs.ready,
});
// One edge config for both nodes; only the node (its name and address) differs.
const edge = (name: string, host: HostSpec, os: HardenedPi, prewarmFrom?: string) =>
  new EdgeCacheNode(name, {
    ...program.edgeCache.args,
    host,
    prewarmFrom,
    connection: connection(host),
    healthLogin: modelCache.healthLogin,
    // The probes log in to the model cache: its users first.
    after: [...os.ready, ...modelCache.ready],
  });
const edgeCache = edge("edge-cache", stack.edge, edgeOs);
// The model node also runs the standby edge, where the VIP goes when the edge fails. It warms
// what the edge's clients ask for, from the edge's published top list.
const standbyEdge = edge("standby-edge", stack.model, modelOs, stack.edge.address);
// The VIP on the edge, with the standby edge as backup: each node joins once its edge answers.
const vipPair = new VipPair("vip", {
  ...program.vipPair.args,
  master: { host: stack.edge, connection: connection(stack.edge), after: [edgeCache] },
  backup: { host: stack.model, connection: connection(stack.model), after: [standbyEdge] },
});
// okome-validate and okome-chaos on both nodes, once the pair they check is up. The health keys
// are read as the health probes' user, whose password both nodes hold already.
const opsTools = new OpsTools("ops", {
  ...program.opsTools.args,
  vip: stack.vip,
  orchestrator: stack.orchestrator,
  edge: { host: stack.edge, connection: connection(stack.edge), after: [vipPair] },
  model: { host: stack.model, connection: connection(stack.model), after: [vipPair] },
  redis: {
    port: modelCache.port,
    monitorUser: modelCache.monitorUsername,
    monitorPassword: modelCache.monitorPassword,
    keysUser: modelCache.healthLogin.user,
    keysPassword: modelCache.healthLogin.password,
  },
});

// The stack outputs: what the orchestrator needs, and all that the validation suite reads.
const stackOutputs = {
  ...outputs,
  // Each edge as the validation suite checks it: URLs, limits, the health probe.
  edgeCacheNode: edgeCache.summary,
  standbyEdgeNode: standbyEdge.summary,
  // The pair as the validation suite checks it: the VIP, both nodes, the metrics file.
  vipPairSummary: vipPair.summary,
  // Where the operator's tools are and whether chaos drills may run (off unless chaosEnabled).
  opsToolsSummary: opsTools.summary,
  // What the orchestrator needs to reach the model cache, and what the validation suite checks.
  modelCacheAddress: modelCache.address,
  modelCachePort: modelCache.port,
  modelCacheUser: modelCache.username,
  modelCachePassword: modelCache.password,
  modelCacheMonitorUser: modelCache.monitorUsername,
  modelCacheMonitorPassword: modelCache.monitorPassword,
  modelCacheMaxmemory: modelCache.maxmemory,
  modelCacheMaxmemoryPolicy: modelCache.maxmemoryPolicy,
  modelCacheExporter: modelCache.exporter,
  modelCacheExporterUrl: modelCache.exporterUrl,
};

export const {
  environment,
  vip,
  edgeAddress,
  modelAddress,
  deployAccess,
  edgeHardening,
  modelHardening,
  wireguardPeerConfigs,
  pendingReboots,
  skippedSettings,
  edgeCacheNode,
  standbyEdgeNode,
  vipPairSummary,
  opsToolsSummary,
  modelCacheAddress,
  modelCachePort,
  modelCacheUser,
  modelCachePassword,
  modelCacheMonitorUser,
  modelCacheMonitorPassword,
  modelCacheMaxmemory,
  modelCacheMaxmemoryPolicy,
  modelCacheExporter,
  modelCacheExporterUrl,
} = stackOutputs;

// Last: `up` fails when the tier it just deployed does not pass the validation suite.
deploymentGate("validate-after-up", {
  configSets: [edgeOs, modelOs, modelCache, edgeCache, standbyEdge, vipPair, opsTools].flatMap(
    (component) => component.configSets,
  ),
  outputs: stackOutputs,
  stack,
});

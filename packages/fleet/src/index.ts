export { WorkerHeartbeat, InstanceStatus, ModelBindingStatus } from "./heartbeat.js";
export { FleetRegistry, sameRun, type WorkerRun } from "./registry.js";
export { FleetSnapshot, type ServedModel } from "./view.js";
export { instanceKey, reachableFrom } from "./identity.js";
export { InstanceDescription, InstanceDescriptions } from "./descriptions.js";
export { sharedInstances, describeBinders, SHARED_INSTANCE_ADVICE, type InstanceBinder, type SharedInstance } from "./sharing.js";

import type {
  InstanceRegistry,
  RunInFlight,
  WorkerInstanceIdentity,
  WorkerInstanceRecord,
} from '../instance-registry.js';

/** Worker instances in a Map. For unit tests of pure logic. */
export class InMemoryInstanceRegistry implements InstanceRegistry {
  private readonly records = new Map<string, WorkerInstanceRecord>();

  heartbeat(identity: WorkerInstanceIdentity, at: Date, runsInFlight: readonly RunInFlight[]): Promise<void> {
    this.records.set(identity.instanceId, {
      ...identity,
      startedAt: new Date(identity.startedAt.getTime()),
      heartbeatAt: new Date(at.getTime()),
      stoppedAt: null,
      runsInFlight: runsInFlight.map((run) => ({ ...run })),
    });
    return Promise.resolve();
  }

  markStopped(instanceId: string, at: Date): Promise<void> {
    const record = this.records.get(instanceId);
    if (record !== undefined) this.records.set(instanceId, { ...record, stoppedAt: new Date(at.getTime()), runsInFlight: [] });
    return Promise.resolve();
  }

  list(limit: number): Promise<WorkerInstanceRecord[]> {
    return Promise.resolve(
      [...this.records.values()]
        .sort((left, right) => right.heartbeatAt.getTime() - left.heartbeatAt.getTime())
        .slice(0, limit)
        .map((record) => ({ ...record, runsInFlight: record.runsInFlight.map((run) => ({ ...run })) })),
    );
  }

  pruneSilentBefore(cutoff: Date, batchSize: number): Promise<number> {
    let pruned = 0;
    for (const [instanceId, record] of this.records) {
      if (pruned >= batchSize) break;
      if (record.heartbeatAt.getTime() < cutoff.getTime()) {
        this.records.delete(instanceId);
        pruned += 1;
      }
    }
    return Promise.resolve(pruned);
  }
}

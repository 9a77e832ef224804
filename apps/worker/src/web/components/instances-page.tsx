/** Worker replicas with their heartbeats and runs in flight. */
import type { WorkerInstanceView } from '../../console/api-types.js';
import { apiGet } from '../api.js';
import { formatInstant, formatRelative } from '../format.js';
import { ErrorMessage, Loading, usePoll } from './common.js';

function InstancesTable() {
  const instances = usePoll(() => apiGet<{ instances: WorkerInstanceView[] }>('/api/instances'), 'instances');
  const now = Date.now();
  if (instances.data === null) return instances.error === null ? <Loading /> : <ErrorMessage error={instances.error} />;
  return (
    <table class="data" data-testid="instances">
      <caption>Every worker replica that sent a heartbeat (silent: none for over 10 s; its runs are taken over)</caption>
      <thead>
        <tr>
          <th scope="col">Host</th>
          <th scope="col">PID</th>
          <th scope="col">Version</th>
          <th scope="col">Started</th>
          <th scope="col">State</th>
          <th scope="col">Last heartbeat</th>
          <th scope="col">Runs in flight</th>
        </tr>
      </thead>
      <tbody>
        {instances.data.instances.map((instance) => (
          <tr key={instance.instanceId} data-state={instance.state}>
            <th scope="row">{instance.hostName}</th>
            <td>{instance.processId}</td>
            <td>{instance.version}</td>
            <td>{formatInstant(instance.startedAt)}</td>
            <td>
              <span class={`badge badge-${instance.state}`}>{instance.state}</span>
            </td>
            <td>{formatRelative(instance.lastHeartbeatAt, now)}</td>
            <td>{instance.runs.length === 0 ? '0' : instance.runs.map((run) => `${run.jobName} (attempt ${run.attempt})`).join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function InstancesPage() {
  return (
    <section aria-labelledby="instances-title">
      <h1 id="instances-title">Worker instances</h1>
      <InstancesTable />
    </section>
  );
}

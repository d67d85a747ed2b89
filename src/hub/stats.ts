/** Hub statistics: a plain object, and its Prometheus text exposition (format 0.0.4). */

export interface HubStats {
  /** Connections open in the hub now. */
  connections: number;
  /** Connections ever registered. */
  connectionsTotal: number;
  /** Data messages received from peers. */
  messagesIn: number;
  /** Data messages written by the hub (one per recipient of a broadcast or publish, one per send). */
  messagesOut: number;
  /** Bytes read from the hub's sockets (wire bytes, frames included). */
  bytesIn: number;
  /** Bytes written to the hub's sockets (wire bytes, frames included; whoever wrote them). */
  bytesOut: number;
  /** Broadcast/publish deliveries skipped because the recipient was over maxBufferedBytes (policy "drop"). */
  dropped: number;
  /** Connections closed because they were over maxBufferedBytes (policy "close"). */
  slowClosed: number;
  /** Connections terminated because they did not answer a heartbeat ping in time. */
  heartbeatTerminated: number;
  /** Connections closed by idleTimeout. */
  idleClosed: number;
  /** Rooms with at least one member. */
  rooms: number;
  /** Room memberships (a connection in three rooms counts three). */
  roomMemberships: number;
  /** 1 while the adapter reaches the rest of the cluster (always 1 for the in-process adapter), else 0. */
  clusterConnected: number;
  /** Times the adapter lost the cluster. */
  clusterOutages: number;
  /** Messages and operations that could not be sent to other nodes. */
  clusterNotCrossed: number;
  /** Messages sent to and received from other nodes. */
  clusterCrossedOut: number;
  clusterCrossedIn: number;
  /** Adapter faults (each also an "error" event on the hub, or a line on stderr). */
  adapterErrors: number;
}

interface Metric {
  key: keyof HubStats;
  name: string;
  type: "counter" | "gauge";
  help: string;
}

const METRICS: readonly Metric[] = [
  { key: "connections", name: "wshub_connections", type: "gauge", help: "Connections open in the hub." },
  { key: "connectionsTotal", name: "wshub_connections_opened_total", type: "counter", help: "Connections ever registered." },
  { key: "messagesIn", name: "wshub_messages_received_total", type: "counter", help: "Data messages received." },
  { key: "messagesOut", name: "wshub_messages_sent_total", type: "counter", help: "Data messages written by the hub, per recipient." },
  { key: "bytesIn", name: "wshub_bytes_received_total", type: "counter", help: "Wire bytes read." },
  { key: "bytesOut", name: "wshub_bytes_sent_total", type: "counter", help: "Wire bytes written." },
  { key: "dropped", name: "wshub_messages_dropped_total", type: "counter", help: "Deliveries skipped for slow consumers." },
  { key: "slowClosed", name: "wshub_slow_consumers_closed_total", type: "counter", help: "Connections closed as slow consumers." },
  { key: "heartbeatTerminated", name: "wshub_heartbeat_terminated_total", type: "counter", help: "Connections terminated for missing heartbeats." },
  { key: "idleClosed", name: "wshub_idle_closed_total", type: "counter", help: "Connections closed by the idle timeout." },
  { key: "rooms", name: "wshub_rooms", type: "gauge", help: "Rooms with at least one member." },
  { key: "roomMemberships", name: "wshub_room_memberships", type: "gauge", help: "Room memberships." },
  { key: "clusterConnected", name: "wshub_cluster_connected", type: "gauge", help: "1 while the adapter reaches the cluster." },
  { key: "clusterOutages", name: "wshub_cluster_outages_total", type: "counter", help: "Times the adapter lost the cluster." },
  { key: "clusterNotCrossed", name: "wshub_cluster_not_crossed_total", type: "counter", help: "Messages and operations that could not reach other nodes." },
  { key: "clusterCrossedOut", name: "wshub_cluster_messages_sent_total", type: "counter", help: "Messages sent to other nodes." },
  { key: "clusterCrossedIn", name: "wshub_cluster_messages_received_total", type: "counter", help: "Messages received from other nodes." },
  { key: "adapterErrors", name: "wshub_adapter_errors_total", type: "counter", help: "Adapter faults." },
];

/** Renders stats in the Prometheus text format; `labels` (e.g. { instance: "a" }) are added to every sample. */
export function formatPrometheus(stats: HubStats, labels: Readonly<Record<string, string>> = {}): string {
  const keys = Object.keys(labels);
  const lbl = keys.length === 0 ? "" : `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(",")}}`;
  let out = "";
  for (const m of METRICS) {
    out += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name}${lbl} ${stats[m.key]}\n`;
  }
  return out;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

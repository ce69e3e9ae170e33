/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The broker's MQTT-over-WebSocket URL. */
  readonly VITE_VMM_URL?: string;
  /** The vmm topic prefix. */
  readonly VITE_VMM_PREFIX?: string;
}

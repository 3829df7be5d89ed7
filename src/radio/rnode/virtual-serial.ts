/**
 * The serial side of a virtual device, on serialport's own mock binding: a
 * binding whose port delivers the host's writes to the device and lets the
 * device send bytes back, so the real driver and the real SerialPortStream are
 * what runs. It adds what the mock lacks for USB devices: unplugging (the
 * host's pending read fails as a disconnect, and opening fails with "No such
 * file or directory" like bindings-cpp) and plugging back in.
 */
import { createRequire } from "node:module";
import type * as BindingMock from "@serialport/binding-mock" with { "resolution-mode": "require" };
import type { BindingInterface, BindingPortInterface, OpenOptions, PortStatus, SetOptions, UpdateOptions } from "@serialport/bindings-cpp";

// The package's ESM entry ships no types (its exports map points types only at the CommonJS build).
const { MockBinding } = createRequire(import.meta.url)("@serialport/binding-mock") as typeof BindingMock;
type MockPortBinding = BindingMock.MockPortBinding;

/** What the device hears from the serial side. */
export interface SerialDevice {
  /** A host opened the port. */
  hostOpened(): void;
  /** Bytes a host wrote, in order. */
  fromHost(bytes: Uint8Array): void;
}

/** One virtual serial port. */
export interface VirtualSerial {
  /** The binding to give SerialPortStream (it opens only this port's path). */
  readonly binding: BindingInterface;
  readonly path: string;
  /** Whether a host has the port open now. */
  readonly hostAttached: boolean;
  /** Sends bytes to the host; lost when no host has the port open, as on a USB CDC device. */
  toHost(bytes: Uint8Array): void;
  /** The device vanishes: the host's read fails as on a USB unplug; opening fails until `replug()`. */
  unplug(): void;
  replug(): void;
}

/** The error bindings-cpp gives when a read fails because the USB device went away. */
function disconnectError(): Error {
  return Object.assign(new Error("ENXIO: no such device or address, read"), { code: "ENXIO", disconnect: true });
}

class VirtualPort implements BindingPortInterface {
  private failRead: ((err: Error) => void) | null = null;
  private gone = false;

  constructor(
    private readonly inner: MockPortBinding,
    private readonly device: SerialDevice,
    private readonly onClosed: (port: VirtualPort) => void,
  ) {}

  get openOptions(): Required<OpenOptions> {
    return this.inner.openOptions;
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  /** Device → host; ignored once the port is closed or the device is gone. */
  emit(bytes: Uint8Array): void {
    if (this.inner.isOpen && !this.gone) this.inner.emitData(Buffer.from(bytes));
  }

  unplug(): void {
    this.gone = true;
    this.failRead?.(disconnectError());
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (this.gone) return Promise.reject(disconnectError());
    return new Promise((resolve, reject) => {
      this.failRead = reject;
      this.inner.read(buffer, offset, length).then(resolve, reject);
    }).finally(() => {
      this.failRead = null;
    }) as Promise<{ buffer: Buffer; bytesRead: number }>;
  }

  async write(buffer: Buffer): Promise<void> {
    if (this.gone) throw disconnectError();
    await this.inner.write(buffer);
    this.device.fromHost(new Uint8Array(buffer));
  }

  async close(): Promise<void> {
    await this.inner.close();
    this.onClosed(this);
  }

  update(options: UpdateOptions): Promise<void> {
    return this.inner.update(options);
  }
  set(options: SetOptions): Promise<void> {
    return this.inner.set(options);
  }
  get(): Promise<PortStatus> {
    return this.inner.get();
  }
  getBaudRate(): Promise<{ baudRate: number }> {
    return this.inner.getBaudRate();
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  drain(): Promise<void> {
    return this.inner.drain();
  }
}

/**
 * Creates the port `path` in serialport's mock registry (paths are global to
 * the process, so each virtual device needs its own) and returns its binding.
 */
export function createVirtualSerial(path: string, device: SerialDevice): VirtualSerial {
  MockBinding.createPort(path, { echo: false, record: false });
  let plugged = true;
  let current: VirtualPort | null = null;

  const binding: BindingInterface = {
    list: async () => (plugged ? (await MockBinding.list()).filter((p) => p.path === path) : []),
    async open(options: OpenOptions) {
      if (!plugged || options.path !== path) throw new Error(`Error: No such file or directory, cannot open ${options.path}`);
      const inner = await MockBinding.open(options); // throws "Port is locked" if a host forgot to close it
      const port = new VirtualPort(inner, device, (closed) => {
        if (current === closed) current = null;
      });
      current = port;
      device.hostOpened();
      return port;
    },
  };

  return {
    binding,
    path,
    get hostAttached() {
      return current?.isOpen ?? false;
    },
    toHost(bytes) {
      current?.emit(bytes);
    },
    unplug() {
      plugged = false;
      current?.unplug();
    },
    replug() {
      plugged = true;
    },
  };
}

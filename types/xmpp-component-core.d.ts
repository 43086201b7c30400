/** The parts of @xmpp/component-core (no typings are published) that Concierge uses. */
declare module "@xmpp/component-core" {
  import type { EventEmitter } from "node:events";
  import type { Socket } from "node:net";
  import type { Element } from "@xmpp/xml";

  export class Component extends EventEmitter {
    constructor(options: { service: string; domain: string });
    status: string;
    socket: Socket | null;
    connect(service: string): Promise<void>;
    open(options: { domain: string; lang?: string; timeout?: number }): Promise<Element>;
    authenticate(id: string, password: string): Promise<void>;
    send(element: Element): Promise<void>;
    stop(): Promise<Element | undefined>;
  }
}

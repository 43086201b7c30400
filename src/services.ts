import type { Config } from "./config.js";
import { neercService } from "./neerc/service.js";
import { olpcService } from "./olpc/service.js";
import { roomPoolService } from "./roompool/service.js";
import type { Service } from "./service.js";
import { webchatService } from "./webchat/service.js";

/** The services the configuration turns on, in start order (presence always comes first). */
export function buildServices(config: Config): Service[] {
  const services: Service[] = [];
  if (config.neerc?.enabled) services.push(neercService(config.neerc));
  if (config.olpc?.enabled) services.push(olpcService(config.olpc));
  if (config.roompool?.enabled) services.push(roomPoolService(config.roompool));
  if (config.webchat?.enabled) services.push(webchatService(config.webchat));
  return services;
}

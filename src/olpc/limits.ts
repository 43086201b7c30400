import type { PropertyLimits } from "./properties.js";

/** Every size limit of the OLPC index: configuration, not constants. */

export interface OlpcLimits extends PropertyLimits {
  /** Largest view; a bigger `size` (or `<random max/>`) is lowered to it, a missing one is it. */
  maxViewSize: number;
  /** Largest RSM page; a bigger `<max/>` is lowered to it, a missing one is it. */
  maxPageSize: number;
  /** Most `<buddy jid/>` participants one activity query may name. */
  maxCriteriaBuddies: number;
  /** Most activities one buddy's activities PEP item may list. */
  maxBuddyActivities: number;
  /** Longest view id, activity id or alias, in characters. */
  maxIdLength: number;
}

export const DEFAULT_LIMITS: Readonly<OlpcLimits> = {
  maxProperties: 32,
  maxValueBytes: 4096,
  maxNameBytes: 256,
  maxViewSize: 100,
  maxPageSize: 50,
  maxCriteriaBuddies: 32,
  maxBuddyActivities: 64,
  maxIdLength: 256,
};

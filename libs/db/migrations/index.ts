import { Initial1795445498242 } from './1795445498242-initial';

/** Ordered list of migrations; run automatically at start by API and worker (under an advisory lock). */
export const MIGRATIONS = [Initial1795445498242];

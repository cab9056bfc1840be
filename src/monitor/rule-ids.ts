/**
 * The rule ids of the monitor (src/monitor/): its anomalies (`monitor.<anomaly kind>`) and the
 * cost budgets it enforces while a job runs (`budget.*`, named by the policy field that sets
 * them; src/plan/budget.ts computes the limits from the input's media duration).
 */
import type { Anomaly } from './monitor.js';

export type MonitorRuleId = `monitor.${Anomaly['kind']}` | BudgetRuleId;

export const BUDGET_RULES = ['budget.cpuSecondsPerMediaSecond', 'budget.wallSecondsPerMediaSecond', 'budget.maxStderrMiB'] as const;

export type BudgetRuleId = (typeof BUDGET_RULES)[number];

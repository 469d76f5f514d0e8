/**
 * Shipwatch answers what Jaeger 2.x answers, on the embedded store: the goldens recorded from the real Jaeger
 * (record.ts) against Shipwatch's answers to the same inputs and questions (suite.ts; no Jaeger needed).
 */
import { parity } from './suite.js';

parity('embedded store');

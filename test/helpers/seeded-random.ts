/** The seeded generator of the fuzz tests and benchmarks: the one the demo uses (platform/seeded-random.ts). */
export { seededRandom } from '../../platform/seeded-random.js';

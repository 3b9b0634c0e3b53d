export { default } from '../services/eslint.config.js';

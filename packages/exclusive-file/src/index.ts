export { type CreateFileOptions, createFileExclusively } from './create-file-exclusively.js';

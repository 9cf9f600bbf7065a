import mod from '../dist/engine/index.js'
export const { Connection, FrameParser, FrameWriter, buildFrame, writeHeader, headerLength, applyMask, Utf8Validator, isValidUtf8, isValidCloseCode } = mod

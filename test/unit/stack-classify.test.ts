// In the worker bundle without its source map, the call stack tells the debugger's own frames
// from the model's by class name: a debugger frame shown as a model frame would put the
// debugger's code in the user's call stack.
import * as assert from 'node:assert/strict';
import { classify, selfFile } from '../../src/emulator/debug/worker/stack';

const at = (fn: string) => classify({ fn, file: selfFile, line: 1, column: 1 });

describe('call stack: debugger frames in the unmapped worker bundle', () => {
  it('counts the methods of every part that runs while the model is on the stack as the debugger', () => {
    for (const cls of [
      'Controller',
      'EventHook',
      'Stops',
      'Inspector',
      'DataTargets',
      'GuestMemory',
      'JsVars',
      'StackView',
      'Journal',
      'BreakpointBook',
      'Output',
    ]) {
      assert.equal(at(`${cls}.someMethod`), 'debugger', cls);
    }
  });

  it('keeps the model and the event plumbing apart from it', () => {
    assert.equal(at('VisorBus.dispatch'), 'engine');
    assert.equal(at('Engine.step'), 'plumbing');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorMessage } from './errors.js';

describe('errorMessage', () => {
  it('reads an Error, an error-like object, a string and anything else', () => {
    assert.equal(errorMessage(new TypeError('bad input')), 'bad input');
    assert.equal(errorMessage({ message: 'from a plain object' }), 'from a plain object');
    assert.equal(errorMessage('a string'), 'a string');
    assert.equal(errorMessage(undefined), 'undefined');
    assert.equal(errorMessage({ code: 3 }), '[object Object]');
  });
});

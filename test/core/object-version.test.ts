import { objectVersionId } from '../../src/core/object-version';

test('a real version id is kept', () => {
  expect(objectVersionId('3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo')).toBe('3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo');
});

test.each([undefined, null, '', 'null'])('%p means the object has no version of its own', (answer) => {
  expect(objectVersionId(answer)).toBeUndefined();
});

package dev.licentia.client;

/**
 * A signed document that does not verify for this product, machine or time. Internal: the SDK turns
 * it into a status ({@code invalid_document}) or an {@link InvalidAnswerException}, never lets it out.
 * Deliberately without detail worth exploiting.
 */
final class InvalidDocument extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidDocument(String message) {
        super(message);
    }
}

public enum RNCommandLinePlaceholder {}

"""Small Qt widgets of the dock widget: a scroll area as wide as its content, a folded text."""

from __future__ import annotations

from qtpy.QtCore import QEvent, QSize, Qt
from qtpy.QtWidgets import QFrame, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget


class VerticalScrollArea(QScrollArea):
    """Scrolls its widget vertically and is always as wide as the widget needs."""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(content)

    def _with_width_of(self, hint: QSize, content_hint: QSize) -> QSize:
        return QSize(content_hint.width() + self.verticalScrollBar().sizeHint().width(), hint.height())

    def minimumSizeHint(self) -> QSize:
        return self._with_width_of(super().minimumSizeHint(), self.widget().minimumSizeHint())

    def sizeHint(self) -> QSize:
        return self._with_width_of(super().sizeHint(), self.widget().sizeHint())

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the content's width changed (a style, a longer text)
        return super().event(event)


class FoldedText(QWidget):
    """A title with an arrow that unfolds (and folds again) a rich text below it."""

    def __init__(self, title: str, html: str) -> None:
        super().__init__()
        self.button = QToolButton()
        self.button.setText(title)
        self.button.setCheckable(True)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setArrowType(Qt.ArrowType.RightArrow)
        self.button.setStyleSheet("QToolButton { border: none; }")
        self.text = QLabel(html)
        self.text.setWordWrap(True)
        self.text.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.text)
        self.button.toggled.connect(self._unfold)

    def _unfold(self, shown: bool) -> None:
        self.text.setVisible(shown)
        self.button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

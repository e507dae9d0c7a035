"""One screen per family of flow phases; each renders a :class:`~kiosk.flow.FlowState` and posts
the resident's intents as flow events. Screens hold no state of their own beyond what they show."""
